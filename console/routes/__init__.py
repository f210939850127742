"""The console's routers, one per page group; authorisation is a dependency of each route."""

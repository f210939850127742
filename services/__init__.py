"""Framework-free business rules of the assistant, one module per capability.

Nothing here imports aiogram, FastAPI or the NLU: plain typed objects in and out, domain errors
raised, transactions owned by the service (or the caller's unit of work).
"""

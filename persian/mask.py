"""Masking of personal identifiers for logs and for agents who have not opened a record."""


def mask_national_id(national_id: str) -> str:
    """Return ``6508****26``-style masking: the first three and last two digits stay."""
    if len(national_id) < 6:
        return "*" * len(national_id)
    return national_id[:3] + "*" * (len(national_id) - 5) + national_id[-2:]


def mask_mobile(mobile: str) -> str:
    """Return ``0912***4567``-style masking: operator prefix and last four digits stay."""
    if len(mobile) < 8:
        return "*" * len(mobile)
    return mobile[:4] + "*" * (len(mobile) - 8) + mobile[-4:]

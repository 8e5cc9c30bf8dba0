"""Masking helpers: what staff see of personal data unless they reveal it."""

import re


def mask_phone(value: str) -> str:
    """13812345678 → 138****5678; 021-12345678 → 021****5678."""
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        return ""
    if len(digits) <= 7:
        return digits[:2] + "*" * (len(digits) - 2)
    return digits[:3] + "****" + digits[-4:]


def mask_name(value: str) -> str:
    """张三明 → 张*明; 张三 → 张*; organisations keep their first and last two characters."""
    name = (value or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return name[:2] + "*" * (len(name) - 4) + name[-2:]


def mask_id_number(value: str) -> str:
    """110101199001011234 → 110***********1234."""
    text = (value or "").strip()
    if len(text) <= 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def mask_address(value: str) -> str:
    """Keep the first six characters (province/city), hide the street and number."""
    text = (value or "").strip()
    if len(text) <= 6:
        return text[:2] + "*" * max(len(text) - 2, 0)
    return text[:6] + "****"

"""Whole rupiah as plain integers, and the one way they are written for people."""


def require_rupiah(amount: object, *, field: str = "amount") -> int:
    """Return `amount` if it is a whole-rupiah integer; floats, Decimals and bools are refused."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"{field} must be an integer number of rupiah, got {type(amount).__name__}")
    return amount


def format_rupiah(amount: int) -> str:
    """Format integer rupiah the Indonesian way: 1234567 -> 'Rp1.234.567', -5000 -> '-Rp5.000'."""
    require_rupiah(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")

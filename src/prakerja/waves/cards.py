"""Card numbers: 16 digits, the last a Luhn check digit, so a mistyped number is caught on the spot."""

import secrets


def luhn_check_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: these become the odd positions once the check digit is on
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]


def card_number_new() -> str:
    """15 random digits (no leading zero) and the check digit: about 10^15 possible numbers, so
    guessing a valid one is hopeless and collisions (refused by the unique constraint) are rare."""
    body = str(secrets.randbelow(9 * 10**14) + 10**14)
    return body + luhn_check_digit(body)

"""Password policy: long enough and not common, judged by zxcvbn's frequency lists."""
from zxcvbn import zxcvbn

MIN_PASSWORD = 8
MAX_PASSWORD = 200
# zxcvbn scores 0-4; 0 and 1 are guessable within about a million tries (common words,
# keyboard walks, repeated digits, "password", "12345678").
MIN_SCORE = 2
# zxcvbn's cost grows with length; the first 100 characters decide as well as all 200.
_SCORED_PREFIX = 100


def problem(password, username=""):
    """Return a Spanish reason why the password is refused, or None when it is acceptable."""
    password = password or ""
    if len(password) < MIN_PASSWORD or len(password) > MAX_PASSWORD:
        return f"La contraseña debe tener entre {MIN_PASSWORD} y {MAX_PASSWORD} caracteres."
    if "\x00" in password:
        return "La contraseña no puede contener caracteres de control."
    inputs = [username] if username else []
    result = zxcvbn(password[:_SCORED_PREFIX], user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        return ("Esa contraseña es muy común o fácil de adivinar. Usa una frase de varias "
                "palabras o mezcla palabras, números y signos.")
    return None

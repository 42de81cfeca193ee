"""Compatibility shim, loaded by a .pth file in AIC's training venv (see setup_venv.sh).

torch 2.x imports sympy.core.numbers.equal_valued (sympy 1.12+); Debian bookworm ships sympy
1.11. This adds the function, as sympy defines it: x == y once both are sympified, with a
rational and a float of equal value counting as equal.
"""
import sys

_DEBIAN = "/usr/lib/python3/dist-packages"
if _DEBIAN not in sys.path:
    # .pth files run before the venv's system site is on sys.path
    sys.path.append(_DEBIAN)
try:
    import sympy.core.numbers as _numbers
except ImportError:
    _numbers = None

if _numbers is not None and not hasattr(_numbers, "equal_valued"):
    def equal_valued(x, y):
        import sympy

        x, y = sympy.sympify(x), sympy.sympify(y)
        if x.is_Float and y.is_Rational or x.is_Rational and y.is_Float:
            return sympy.Rational(x) == sympy.Rational(y)
        return x == y

    _numbers.equal_valued = equal_valued

"""AirScript (0xMiden/air-script v0.4.0) front end: parse ``.air`` files and lower them into an ``Air``."""

from air.airscript.lower import load_airscript
from air.airscript.parser import AirScriptError

__all__ = ["AirScriptError", "load_airscript"]

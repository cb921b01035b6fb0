"""Twilio (SMS): the ``SmsSender`` adapter and its status callbacks."""

from getiickets.adapters.twilio.sms import TwilioSmsSender
from getiickets.adapters.twilio.status_callbacks import (
    InvalidStatusCallbackError,
    TwilioStatusReport,
    parse_status_callback,
    verify_status_callback,
)

__all__ = [
    "InvalidStatusCallbackError",
    "TwilioSmsSender",
    "TwilioStatusReport",
    "parse_status_callback",
    "verify_status_callback",
]

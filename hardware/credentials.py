"""Where provider credentials come from, and how they are kept out of every message.

Credentials are never arguments of our providers and never reach the journal. They come from

* IBM Quantum: the environment (``QISKIT_IBM_TOKEN``, ``QISKIT_IBM_INSTANCE``, ``QISKIT_IBM_CHANNEL``) or an
  account saved once with ``QiskitRuntimeService.save_account(...)`` (``~/.qiskit/qiskit-ibm.json``);
* AWS (Braket): AWS's own chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``,
  ``AWS_PROFILE``, ``~/.aws/credentials``, ``~/.aws/config``, instance roles).

When none is found a :class:`~hardware.errors.CredentialsError` says where to put them, never what they are.
:func:`scrub` removes known secret values (and token-shaped strings) from any text that came from a vendor
before it goes into one of our exceptions.

The vendor SDKs are imported inside the functions that need them, so importing this module needs neither.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hardware.errors import CredentialsError

__all__ = [
    "AWS_CREDENTIALS_HELP",
    "IBM_CHANNELS",
    "IBM_CREDENTIALS_HELP",
    "SECRET_ENV_VARS",
    "IBMCredentials",
    "aws_session",
    "find_ibm_credentials",
    "ibm_service",
    "looks_like_secret",
    "scrub",
]

SECRET_ENV_VARS: tuple[str, ...] = (
    "QISKIT_IBM_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
"""Environment variables whose values :func:`scrub` always removes."""

IBM_CHANNELS: tuple[str, ...] = ("ibm_quantum_platform", "ibm_cloud")
"""The cloud channels of qiskit-ibm-runtime 0.51 (``"local"`` is the offline testing mode, no credentials)."""

IBM_CREDENTIALS_HELP = (
    "Set QISKIT_IBM_TOKEN (your IBM Cloud API key) and QISKIT_IBM_INSTANCE (the instance CRN or name), "
    "optionally QISKIT_IBM_CHANNEL ('ibm_quantum_platform' or 'ibm_cloud'); or save an account once with "
    "QiskitRuntimeService.save_account(token=..., instance=..., set_as_default=True) "
    "(https://quantum.cloud.ibm.com/docs/guides/save-credentials). "
    "To run offline, use a fake backend instead (ibm:fake_manila, or IBMProvider(..., local=True))."
)

AWS_CREDENTIALS_HELP = (
    "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary credentials), "
    "or AWS_PROFILE naming a profile of ~/.aws/credentials or ~/.aws/config (`aws configure` writes them; "
    "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html). "
    "To run offline, use the local simulator instead (braket:local or braket:local_dm)."
)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without secrets: the given values, then what :func:`hardware.journal.scrub` removes.

    Args:
        text: a message, typically ``str(vendor_exception)``.
        secrets: further values to remove (values shorter than 4 characters are ignored: too
            likely to hit ordinary text).

    Returns:
        The text with every secret replaced by ``***`` (credential-looking values of environment
        variables such as ``QISKIT_IBM_TOKEN`` / ``AWS_SECRET_ACCESS_KEY``, bearer tokens, ``token=...``
        pairs and AWS key ids included).
    """
    from hardware.journal import scrub as scrub_common

    out = str(text)
    extra = {v for v in secrets if v} | {v for v in (os.environ.get(name) for name in SECRET_ENV_VARS) if v}
    for value in sorted(extra, key=len, reverse=True):
        if len(value) >= 4:
            out = out.replace(value, "***")
    return scrub_common(out)


_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_\-+/=.~]{20,}")
"""A run of token-alphabet characters (base64, base64url, hex), 20 or more: what API keys look like."""


def looks_like_secret(value: str) -> bool:
    """Whether ``value``, typed by a user where an identifier was expected, could be a credential.

    For values that are echoed back (``qml jobs show ID`` with an unknown ``ID``): such a value is
    described, never shown. It is a secret when :func:`scrub` would remove any of it (a secret
    environment variable's value, an AWS access key id, ``token=...``, a bearer value), or when it
    holds something shaped like a key: a run of 20 or more characters of a token alphabet (letters,
    digits, ``-_+/=.~``) that mixes upper-case letters, lower-case letters and digits (IBM Cloud API
    keys, AWS secret access keys), or a run of 96 or more (IBM Quantum's 128-hex-digit tokens). Our
    own ids are not: local ids (digits), content keys (``qmlh-`` and 64 lower-case hex digits), IBM
    job ids (lower-case letters and digits), uuids, and Braket's JSON lists of task ARNs.

    Args:
        value: the text to judge.

    Returns:
        ``True`` when the value must not be printed.
    """
    text = str(value)
    if scrub(text) != text:
        return True
    for run in _TOKEN_SHAPE.findall(text):
        mixed = any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)
        if mixed or len(run) >= 96:
            return True
    return False


@dataclass(frozen=True, repr=False)
class IBMCredentials:
    """Where the IBM Quantum credentials were found; the token itself never shows in a repr.

    Attributes:
        source: ``"environment"`` or ``"saved account"``.
        channel: ``"ibm_quantum_platform"``, ``"ibm_cloud"``, or ``None`` (the saved default).
        instance: the instance CRN or name, or ``None`` (the account's default).
        token: the API key when it came from the environment; ``None`` for a saved account (the
            runtime reads it from its own file).
    """

    source: str
    channel: str | None = None
    instance: str | None = None
    token: str | None = None

    def __repr__(self) -> str:
        instance = "set" if self.instance else "None"
        token = "<hidden>" if self.token else "None"
        return f"IBMCredentials(source={self.source!r}, channel={self.channel!r}, instance={instance}, token={token})"

    __str__ = __repr__


def find_ibm_credentials(
    channel: str | None = None,
    instance: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> IBMCredentials:
    """Find IBM Quantum credentials without touching the network.

    The environment wins (``QISKIT_IBM_TOKEN`` with ``QISKIT_IBM_INSTANCE`` / ``QISKIT_IBM_CHANNEL``);
    otherwise an account saved with ``QiskitRuntimeService.save_account`` (read from disk only).

    Args:
        channel: ``"ibm_quantum_platform"`` or ``"ibm_cloud"``; ``None``: ``QISKIT_IBM_CHANNEL`` or the saved default.
        instance: instance CRN or name; ``None``: ``QISKIT_IBM_INSTANCE`` or the account's default.
        environ: the environment to read (default ``os.environ``).

    Returns:
        Where the credentials are.

    Raises:
        CredentialsError: no token in the environment and no saved account.
        ValueError: an unknown channel.
    """
    env = os.environ if environ is None else environ
    channel = channel or env.get("QISKIT_IBM_CHANNEL") or None
    if channel is not None and channel not in IBM_CHANNELS:
        raise ValueError(
            f"IBM channel must be one of {', '.join(IBM_CHANNELS)}, got {channel!r}; "
            "for offline runs use a fake backend (local=True) instead of a channel."
        )
    instance = instance or env.get("QISKIT_IBM_INSTANCE") or None
    token = env.get("QISKIT_IBM_TOKEN") or None
    if token:
        return IBMCredentials("environment", channel or IBM_CHANNELS[0], instance, token)
    from qiskit_ibm_runtime import QiskitRuntimeService

    try:
        saved = (
            QiskitRuntimeService.saved_accounts(channel=channel) if channel else QiskitRuntimeService.saved_accounts()
        )
    except Exception as exc:  # an unreadable or invalid account file: say which kind, never its content
        raise CredentialsError(
            f"could not read the saved IBM Quantum accounts ({type(exc).__name__}). {IBM_CREDENTIALS_HELP}"
        ) from None
    if not saved:
        where = f" for channel {channel!r}" if channel else ""
        raise CredentialsError(
            f"no IBM Quantum credentials found: QISKIT_IBM_TOKEN is not set and no account is saved{where}. "
            f"{IBM_CREDENTIALS_HELP}"
        )
    return IBMCredentials("saved account", channel, instance, None)


def ibm_service(credentials: IBMCredentials) -> Any:
    """A ``QiskitRuntimeService`` for ``credentials`` (this contacts IBM Quantum).

    Vendor errors are not translated here; :mod:`hardware.providers.ibm` maps them (and scrubs them).

    Args:
        credentials: from :func:`find_ibm_credentials`.

    Returns:
        The service.
    """
    from qiskit_ibm_runtime import QiskitRuntimeService

    if credentials.token:
        return QiskitRuntimeService(channel=credentials.channel, token=credentials.token, instance=credentials.instance)
    return QiskitRuntimeService(channel=credentials.channel, instance=credentials.instance)


def aws_session(region: str | None = None) -> Any:
    """A ``braket.aws.AwsSession`` on AWS's default credential chain, checked to hold credentials.

    Only local lookups happen (environment, ``~/.aws`` files; an instance-metadata probe where boto3
    does one); no AWS API is called.

    Args:
        region: the AWS region (a device ARN's region); ``None``: the configured region, else ``us-east-1``.

    Returns:
        The session.

    Raises:
        CredentialsError: no credentials, partial credentials, or an unknown profile.
    """
    import boto3
    import botocore.exceptions
    from braket.aws import AwsSession

    try:
        boto = boto3.Session()
        credentials = boto.get_credentials()
    except (botocore.exceptions.ProfileNotFound, botocore.exceptions.PartialCredentialsError) as exc:
        raise CredentialsError(f"AWS credentials are incomplete ({scrub(str(exc))}). {AWS_CREDENTIALS_HELP}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise CredentialsError(
            f"AWS credentials could not be loaded ({type(exc).__name__}: {scrub(str(exc))}). {AWS_CREDENTIALS_HELP}"
        ) from None
    if credentials is None:
        raise CredentialsError(f"no AWS credentials found. {AWS_CREDENTIALS_HELP}")
    wanted = region or boto.region_name or "us-east-1"
    if boto.region_name != wanted:
        boto = boto3.Session(region_name=wanted)  # AWS_PROFILE, if set, is read again
    return AwsSession(boto_session=boto)

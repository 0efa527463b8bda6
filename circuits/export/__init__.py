"""Converters between ``circuits.Circuit`` and Qiskit, OpenQASM and PennyLane (vendor SDKs imported here only)."""

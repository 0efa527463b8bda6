"""Backends built on vendor simulators: Qiskit Aer and PennyLane devices (imported on use)."""

"""The torch state-vector engine: compiled plans, kernels, measurements, the TorchBackend."""

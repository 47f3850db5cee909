"""The inference core shared by the live pipeline and the benchmark: geometry, camera, device, predictor, backends."""

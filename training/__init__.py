"""Training: MNIST in memory, a fast batched loop, safe checkpoints and weights."""

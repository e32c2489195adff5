"""Reference implementation of the Autoencoders-with-MNIST lab."""

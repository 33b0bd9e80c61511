"""Small real models and logs built by the tests with the real frameworks."""

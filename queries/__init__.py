"""The queries room: network science on a loaded Dataset. Functions take graphs or a Dataset, return plain data."""

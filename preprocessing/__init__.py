"""Reading, type inference, timestamp handling, cleaning and the reversible pipeline."""

"""Command-line programs of MixNMatch Studio."""

"""Reference data and price expressions: exact money parsing, the reference-set reader."""

from clearinghouse.money import format_baht, parse_satang, parse_scaled
from pricing.reference import read_reference_dir, sample_dir

__all__ = ["format_baht", "parse_satang", "parse_scaled", "read_reference_dir", "sample_dir"]

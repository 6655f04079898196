"""Synthetic dermatology practice: 835 remittances, appeal history and documentation facts."""

from appeals.synth.generator import SynthSummary, generate
from appeals.synth.people import is_valid_npi, npi_check_digit

__all__ = ["SynthSummary", "generate", "is_valid_npi", "npi_check_digit"]

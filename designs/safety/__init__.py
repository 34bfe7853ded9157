"""Safety monitoring: stopping boundaries for toxicity (Bayesian beta-binomial, Pocock- and
O'Brien–Fleming-type), their exact operating characteristics, and the posterior of toxicity rates."""

from designs.safety.boundaries import SafetyDesign, safety_boundaries, stop_counts

__all__ = ["SafetyDesign", "safety_boundaries", "stop_counts"]

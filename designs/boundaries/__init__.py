"""Decision-boundary tables: per stratum and look, the responder counts that give no-go, continue and go."""

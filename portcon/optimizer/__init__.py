"""Model building, sizing objectives and solving."""

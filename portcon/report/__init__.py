"""Solutions → explanations, sensitivities, metrics and the independent limit check."""

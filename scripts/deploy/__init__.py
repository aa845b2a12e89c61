"""Deploy steps: templates from the specs, the data stack, chalice package, settings chalice deploy cannot make."""

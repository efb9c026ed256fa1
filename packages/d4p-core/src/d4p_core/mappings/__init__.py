"""The mappings d4p-core provides."""

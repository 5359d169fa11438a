"""Chat understanding: which intent a question has, which tools fit it, which slots it fills."""

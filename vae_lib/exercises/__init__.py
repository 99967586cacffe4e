"""The book's exercises: one module per chapter, with that chapter's problem data and self-checks."""

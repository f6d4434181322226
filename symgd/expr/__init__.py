"""Text to expression: the tokenizer, the parser (never ``eval``) and the activation functions."""

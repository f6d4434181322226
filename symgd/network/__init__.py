"""Networks as expressions: the chain rule through a computational graph (``symgd backprop``)
and why a deep chain of sigmoids forgets its first layers (``symgd vanish``)."""

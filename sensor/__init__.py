"""Everything that turns bytes or files into a uniform sample stream."""

"""The ground floor every stage may use: errors, time and size limits, safe file input and
output."""

"""Pure parsers of tool and device output, tested on recorded real output."""

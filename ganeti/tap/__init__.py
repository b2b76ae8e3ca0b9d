"""
twistd entry points: options and service assembly for one node.
"""

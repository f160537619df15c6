"""Pure core of synthblend: configuration, distributions, sampling and camera math.

Nothing in this package imports ``bpy``; it is tested without Blender.
"""

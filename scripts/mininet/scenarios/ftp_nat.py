from links import Shape
TOPOLOGY = "star"
SUMMARY = "todo"
SHAPE = Shape()
def run(shape):
    pass

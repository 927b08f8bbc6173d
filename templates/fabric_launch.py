{fabric} = {Fabric}({options})
{fabric}.launch()

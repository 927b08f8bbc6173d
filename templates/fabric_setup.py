{objects} = {fabric}.setup({arguments})

{total} = {fabric}.all_reduce({total}, reduce_op="sum").item()

if {trainer}.is_global_zero:
    {body}
{trainer}.strategy.barrier()  # the other processes wait for the file

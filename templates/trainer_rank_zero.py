if {trainer}.is_global_zero:
    {body}

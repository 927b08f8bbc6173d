if {fabric}.is_global_zero:
    {body}

{parser}.add_argument("--strategy", default="auto", help="Lightning strategy: auto, ddp, fsdp, deepspeed...")

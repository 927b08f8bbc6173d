{parser}.add_argument("--accelerator", default="auto", help="Lightning accelerator: cpu, gpu, tpu, mps or auto")
{parser}.add_argument("--devices", default="auto", help="devices per node: a number, a list like 0,1, or auto")
{parser}.add_argument("--num-nodes", type=int, default=1, help="machines to train on")
{parser}.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")

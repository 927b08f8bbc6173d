{parser}.add_argument("--accelerator", default="auto", help="Lightning accelerator: cpu, gpu, tpu, mps or auto")
{parser}.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
{parser}.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
{parser}.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")

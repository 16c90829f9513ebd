"""The native tier: pure integer functions compiled to machine code with llvmlite.

:mod:`.lower` writes LLVM IR (no llvmlite needed), :mod:`.native` compiles
it, :mod:`.tier` decides what to compile and when. See spec/vm.md, "The JIT".
"""

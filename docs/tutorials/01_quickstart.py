# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Quick start
#
# <a href="01_quickstart.ipynb" download>Download this notebook (.ipynb)</a>

# %%
import rfscore
print(rfscore.__version__)

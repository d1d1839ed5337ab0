"""The Streamlit app: the router, its session state and caches, and the widgets the pages draw.

app         the entry point (`streamlit run workbench/app.py`): st.navigation over pages/
launch      `python -m workbench.launch run ...`: streamlit's command line with the first page's imports warmed
state       every session-state key, with its setters
cache       every st.cache_* (core results the pages read)
components  widgets that draw and return values
"""

// Content that changes many times a second. NiceGUI re-renders the whole page's Vue tree on every element
// update; this element's content arrives by method call instead and touches nothing but its own DOM.
export default {
  template: "<div></div>",
  props: { html: String },
  mounted() {
    this.show(this.html);
  },
  watch: {
    html(value) {
      this.show(value); // a regular update (the element's creation, a resync) carries the latest content
    },
  },
  methods: {
    show(html) {
      if (html === this.shown) return;
      this.shown = html;
      this.$el.setHTML(html || ""); // NiceGUI's DOMPurify-backed setHTML: model output is untrusted
    },
  },
};

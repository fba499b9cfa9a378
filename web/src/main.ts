import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './style.css'
import App from './App.vue'
import { makeI18n } from './i18n'
import { makeRouter } from './router'

const app = createApp(App)
app.use(createPinia())
app.use(makeI18n())
app.use(makeRouter())
app.use(ElementPlus)
app.mount('#app')
